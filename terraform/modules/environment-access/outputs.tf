output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider in this account."
  value       = aws_iam_openid_connect_provider.github.arn
}

output "oidc_provider_client_id_list" {
  description = "Audiences accepted by the OIDC provider."
  value       = aws_iam_openid_connect_provider.github.client_id_list
}

output "boundary_policy_arn" {
  description = "ARN of the permissions boundary for workload roles."
  value       = aws_iam_policy.boundary.arn
}

output "boundary_policy" {
  description = "The permissions boundary document (JSON)."
  value       = aws_iam_policy.boundary.policy
}

output "deploy_role_arn" {
  description = "ARN of the deploy role."
  value       = module.deploy_role.iam_role_arn
}

output "deploy_role_assume_role_policy" {
  description = "Trust policy of the deploy role (JSON)."
  value       = module.deploy_role.iam_role_assume_role_policy
}

output "deploy_role_policy" {
  description = "Identity policy of the deploy role (JSON)."
  value       = module.deploy_role.iam_role_policy
}

output "plan_role_arn" {
  description = "ARN of the plan role."
  value       = module.plan_role.iam_role_arn
}

output "plan_role_assume_role_policy" {
  description = "Trust policy of the plan role (JSON)."
  value       = module.plan_role.iam_role_assume_role_policy
}

output "plan_role_policy" {
  description = "Identity policy of the plan role (JSON)."
  value       = module.plan_role.iam_role_policy
}

output "account_public_access_block" {
  description = "The account-wide S3 public access block settings of this account."
  value = {
    block_public_acls       = aws_s3_account_public_access_block.this.block_public_acls
    block_public_policy     = aws_s3_account_public_access_block.this.block_public_policy
    ignore_public_acls      = aws_s3_account_public_access_block.this.ignore_public_acls
    restrict_public_buckets = aws_s3_account_public_access_block.this.restrict_public_buckets
  }
}

output "workload_role_path" {
  description = "IAM path of the workload roles (the main stack's roles); the deploy role manages and passes roles on this path only."
  value       = local.workload_role_path
}
