terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Partial configuration: bucket, key, region, use_lockfile (and profile) are
  # passed with -backend-config. The first apply runs with local state, which
  # is then migrated into the bucket this stack creates.
  backend "s3" {}
}
