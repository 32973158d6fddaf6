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
  access_log_target = var.access_logs == null ? null : {
    bucket = module.access_logs_bucket[0].s3_bucket_id
    prefix = "${var.state_bucket_name}/"
  }
}

# Opt-in: S3 server access logs of the state and promotion records buckets. Only the S3 logging
# service may write, and only for the named buckets of this account (aws:SourceArn, aws:SourceAccount).
module "access_logs_bucket" {
  source = "../modules/hardened-bucket"
  count  = var.access_logs == null ? 0 : 1

  bucket_name                     = var.access_logs.bucket_name
  current_version_expiration_days = var.access_logs.retention_days
  policy_statements = [
    {
      Sid       = "S3ServerAccessLogDelivery"
      Effect    = "Allow"
      Principal = { Service = "logging.s3.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:${local.partition}:s3:::${var.access_logs.bucket_name}/*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = var.operations_account_id }
        ArnLike      = { "aws:SourceArn" = [for name in var.access_logs.source_bucket_names : "arn:${local.partition}:s3:::${name}"] }
      }
    },
  ]
}
