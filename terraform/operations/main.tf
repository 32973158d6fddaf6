# The operations account: the image repository, the GitHub OIDC trust and the
# build role, the promotion records bucket, and - through the dev, staging and
# prod provider aliases - each environment account's OIDC provider,
# permissions boundary, deploy role and plan role.

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  environment_account_roots = {
    for env, e in var.environments : env => "arn:${local.partition}:iam::${e.account_id}:root"
  }

  records_bucket_arn = "arn:${local.partition}:s3:::${var.records_bucket_name}"

  # Cross-account side of the promotion records grant: each deploy role lists
  # and reads every record (promotion reads the source environment's) and
  # writes only its own environment's records.
  records_access_statements = flatten([
    for env, e in var.environments : [
      {
        Sid       = "${title(env)}DeployListPromotions"
        Effect    = "Allow"
        Principal = { AWS = local.environment_account_roots[env] }
        Action    = "s3:ListBucket"
        Resource  = local.records_bucket_arn
        # Unconditioned on purpose: S3 answers a GET of a missing key with 404 only to callers that may
        # list the bucket (a prefix-conditioned grant does not count), and promote reads records that do
        # not exist yet. The bucket holds nothing but promotion records.
        Condition = {
          ArnEquals = { "aws:PrincipalArn" = "arn:${local.partition}:iam::${e.account_id}:role/${e.deploy_role_name}" }
        }
      },
      {
        Sid       = "${title(env)}DeployReadPromotions"
        Effect    = "Allow"
        Principal = { AWS = local.environment_account_roots[env] }
        Action    = "s3:GetObject"
        Resource  = "${local.records_bucket_arn}/promotions/*"
        Condition = {
          ArnEquals = { "aws:PrincipalArn" = "arn:${local.partition}:iam::${e.account_id}:role/${e.deploy_role_name}" }
        }
      },
      {
        Sid       = "${title(env)}DeployWritePromotions"
        Effect    = "Allow"
        Principal = { AWS = local.environment_account_roots[env] }
        Action    = "s3:PutObject"
        Resource  = "${local.records_bucket_arn}/promotions/${env}/*"
        Condition = {
          ArnEquals = { "aws:PrincipalArn" = "arn:${local.partition}:iam::${e.account_id}:role/${e.deploy_role_name}" }
        }
      },
    ]
  ])

  ecr_lifecycle_policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after ${var.untagged_image_expiry_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
    ]
  })

  # SageMaker pulls with the execution role of the environment account, so the
  # environment accounts are the principals; pull actions, plus DescribeImages so
  # that promote (the deploy role) can resolve the commit's tag to its digest.
  ecr_repository_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EnvironmentAccountsPull"
        Effect    = "Allow"
        Principal = { AWS = [for env in ["dev", "staging", "prod"] : local.environment_account_roots[env]] }
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:DescribeImages",
          "ecr:GetDownloadUrlForLayer",
        ]
      },
    ]
  })

  build_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EcrAuthorization"
        Effect   = "Allow"
        Action   = "ecr:GetAuthorizationToken"
        Resource = "*"
      },
      {
        Sid    = "PushToTheRepository"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:CompleteLayerUpload",
          "ecr:DescribeImages",
          "ecr:DescribeRepositories",
          "ecr:GetDownloadUrlForLayer",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:UploadLayerPart",
        ]
        Resource = aws_ecr_repository.this.arn
      },
    ]
  })
}

################################################################################
# Image repository
################################################################################

resource "aws_ecr_repository" "this" {
  name                 = var.ecr_repository_name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = false

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy     = local.ecr_lifecycle_policy
}

resource "aws_ecr_repository_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy     = local.ecr_repository_policy
}

################################################################################
# GitHub OIDC trust and build role (operations account)
################################################################################

resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

module "build_role" {
  source = "../modules/github-oidc-role"

  role_name         = var.build_role_name
  description       = "Builds and pushes ${var.name} images from GitHub Actions."
  oidc_provider_arn = aws_iam_openid_connect_provider.github.arn
  subjects          = var.build_subjects
  policy            = local.build_policy
}

################################################################################
# Promotion records
################################################################################

module "records_bucket" {
  source = "../modules/hardened-bucket"

  bucket_name       = var.records_bucket_name
  policy_statements = local.records_access_statements
  access_log_target = var.access_logs_bucket_name == null ? null : {
    bucket = var.access_logs_bucket_name
    prefix = "${var.records_bucket_name}/"
  }
}

################################################################################
# Environment accounts (one module per provider alias)
################################################################################

module "dev" {
  source = "../modules/environment-access"

  providers = {
    aws = aws.dev
  }

  name                 = var.name
  environment          = "dev"
  region               = var.region
  state_bucket_name    = var.state_bucket_name
  records_bucket_name  = var.records_bucket_name
  ecr_repository_arn   = aws_ecr_repository.this.arn
  account_id           = var.environments["dev"].account_id
  state_prefix         = var.environments["dev"].state_prefix
  deploy_role_name     = var.environments["dev"].deploy_role_name
  deploy_subjects      = var.environments["dev"].deploy_subjects
  plan_role_name       = var.environments["dev"].plan_role_name
  plan_subjects        = var.environments["dev"].plan_subjects
  boundary_policy_name = var.environments["dev"].boundary_policy_name
  execution_role_name  = var.environments["dev"].execution_role_name
  scheduler_role_name  = var.environments["dev"].scheduler_role_name
}

module "staging" {
  source = "../modules/environment-access"

  providers = {
    aws = aws.staging
  }

  name                 = var.name
  environment          = "staging"
  region               = var.region
  state_bucket_name    = var.state_bucket_name
  records_bucket_name  = var.records_bucket_name
  ecr_repository_arn   = aws_ecr_repository.this.arn
  account_id           = var.environments["staging"].account_id
  state_prefix         = var.environments["staging"].state_prefix
  deploy_role_name     = var.environments["staging"].deploy_role_name
  deploy_subjects      = var.environments["staging"].deploy_subjects
  plan_role_name       = var.environments["staging"].plan_role_name
  plan_subjects        = var.environments["staging"].plan_subjects
  boundary_policy_name = var.environments["staging"].boundary_policy_name
  execution_role_name  = var.environments["staging"].execution_role_name
  scheduler_role_name  = var.environments["staging"].scheduler_role_name
}

module "prod" {
  source = "../modules/environment-access"

  providers = {
    aws = aws.prod
  }

  name                 = var.name
  environment          = "prod"
  region               = var.region
  state_bucket_name    = var.state_bucket_name
  records_bucket_name  = var.records_bucket_name
  ecr_repository_arn   = aws_ecr_repository.this.arn
  account_id           = var.environments["prod"].account_id
  state_prefix         = var.environments["prod"].state_prefix
  deploy_role_name     = var.environments["prod"].deploy_role_name
  deploy_subjects      = var.environments["prod"].deploy_subjects
  plan_role_name       = var.environments["prod"].plan_role_name
  plan_subjects        = var.environments["prod"].plan_subjects
  boundary_policy_name = var.environments["prod"].boundary_policy_name
  execution_role_name  = var.environments["prod"].execution_role_name
  scheduler_role_name  = var.environments["prod"].scheduler_role_name
}
