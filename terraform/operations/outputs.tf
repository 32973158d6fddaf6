output "ecr_repository_name" {
  description = "Name of the image repository."
  value       = aws_ecr_repository.this.name
}

output "ecr_repository_url" {
  description = "URL of the image repository (<registry>/<name>)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecr_repository_arn" {
  description = "ARN of the image repository."
  value       = aws_ecr_repository.this.arn
}

output "build_role_arn" {
  description = "ARN of the build role (operations account)."
  value       = module.build_role.iam_role_arn
}

output "deploy_role_arns" {
  description = "ARN of each environment's deploy role, by environment."
  value = {
    dev     = module.dev.deploy_role_arn
    staging = module.staging.deploy_role_arn
    prod    = module.prod.deploy_role_arn
  }
}

output "plan_role_arns" {
  description = "ARN of each environment's read-only plan role, by environment."
  value = {
    dev     = module.dev.plan_role_arn
    staging = module.staging.plan_role_arn
    prod    = module.prod.plan_role_arn
  }
}

output "boundary_policy_arns" {
  description = "ARN of each environment's workload permissions boundary, by environment."
  value = {
    dev     = module.dev.boundary_policy_arn
    staging = module.staging.boundary_policy_arn
    prod    = module.prod.boundary_policy_arn
  }
}

output "records_bucket_name" {
  description = "Name of the promotion records bucket."
  value       = module.records_bucket.s3_bucket_id
}

output "records_bucket_arn" {
  description = "ARN of the promotion records bucket."
  value       = module.records_bucket.s3_bucket_arn
}

output "oidc_provider_arns" {
  description = "ARN of the GitHub OIDC provider in each account, by account role (operations, dev, staging, prod)."
  value = {
    operations = aws_iam_openid_connect_provider.github.arn
    dev        = module.dev.oidc_provider_arn
    staging    = module.staging.oidc_provider_arn
    prod       = module.prod.oidc_provider_arn
  }
}
