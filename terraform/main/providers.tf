provider "aws" {
  region  = var.region
  profile = var.profile

  # Refuse to run with credentials of any other account.
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = var.tags
  }
}
