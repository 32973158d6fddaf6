# The Terraform state bucket, in the operations account. Each environment
# account may reach only its own state prefix, and only through its deploy
# role (read/write) or plan role (read). The roles may not exist yet when this
# stack is bootstrapped, so the principal is the environment account and the
# role is matched with aws:PrincipalArn instead of being named as principal.

data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  bucket_arn = "arn:${local.partition}:s3:::${var.state_bucket_name}"

  state_access_statements = flatten([
    for env, e in var.environments : [
      {
        Sid       = "${title(env)}StateList"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${e.account_id}:root" }
        Action    = "s3:ListBucket"
        Resource  = local.bucket_arn
        Condition = {
          ArnEquals = {
            "aws:PrincipalArn" = [
              "arn:${local.partition}:iam::${e.account_id}:role/${e.deploy_role_name}",
              "arn:${local.partition}:iam::${e.account_id}:role/${e.plan_role_name}",
            ]
          }
          StringLike = { "s3:prefix" = [e.state_prefix, "${e.state_prefix}*"] }
        }
      },
      {
        Sid       = "${title(env)}DeployState"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${e.account_id}:root" }
        Action    = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource  = "${local.bucket_arn}/${e.state_prefix}*"
        Condition = {
          ArnEquals = { "aws:PrincipalArn" = "arn:${local.partition}:iam::${e.account_id}:role/${e.deploy_role_name}" }
        }
      },
      {
        # Plans run with -lock=false, so the plan role only reads.
        Sid       = "${title(env)}PlanState"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${e.account_id}:root" }
        Action    = "s3:GetObject"
        Resource  = "${local.bucket_arn}/${e.state_prefix}*"
        Condition = {
          ArnEquals = { "aws:PrincipalArn" = "arn:${local.partition}:iam::${e.account_id}:role/${e.plan_role_name}" }
        }
      },
    ]
  ])
}

module "state_bucket" {
  source = "../modules/hardened-bucket"

  bucket_name                        = var.state_bucket_name
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  policy_statements                  = local.state_access_statements
}
