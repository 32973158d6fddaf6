terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Partial configuration: bucket, key (or workspace_key_prefix), region,
  # use_lockfile (and profile or role) are passed with -backend-config.
  backend "s3" {}
}
