output "state_bucket_name" {
  description = "Name of the Terraform state bucket."
  value       = module.state_bucket.s3_bucket_id
}

output "state_bucket_arn" {
  description = "ARN of the Terraform state bucket."
  value       = module.state_bucket.s3_bucket_arn
}

output "access_logs_bucket_name" {
  description = "Name of the S3 access log bucket, or null when access logs are off."
  value       = one(module.access_logs_bucket[*].s3_bucket_id)
}
