terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Partial configuration: bucket, key, region, use_lockfile (and profile) are
  # passed with -backend-config.
  backend "s3" {}
}
