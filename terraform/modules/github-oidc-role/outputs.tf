output "iam_role_arn" {
  description = "ARN of the role."
  value       = aws_iam_role.this.arn
}

output "iam_role_name" {
  description = "Name of the role."
  value       = aws_iam_role.this.name
}

output "iam_role_assume_role_policy" {
  description = "Trust policy of the role (JSON)."
  value       = aws_iam_role.this.assume_role_policy
}

output "iam_role_policy" {
  description = "Inline identity policy of the role (JSON)."
  value       = aws_iam_role_policy.this.policy
}
