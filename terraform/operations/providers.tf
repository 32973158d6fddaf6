# One provider configuration per account. Each refuses credentials of any
# other account, so a wrong profile fails before anything is changed.

provider "aws" {
  region              = var.region
  profile             = var.profile
  allowed_account_ids = [var.operations_account_id]

  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias               = "dev"
  region              = var.region
  profile             = var.environments["dev"].profile
  allowed_account_ids = [var.environments["dev"].account_id]

  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias               = "staging"
  region              = var.region
  profile             = var.environments["staging"].profile
  allowed_account_ids = [var.environments["staging"].account_id]

  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias               = "prod"
  region              = var.region
  profile             = var.environments["prod"].profile
  allowed_account_ids = [var.environments["prod"].account_id]

  default_tags {
    tags = var.tags
  }
}
