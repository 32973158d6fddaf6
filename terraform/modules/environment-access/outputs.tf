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
