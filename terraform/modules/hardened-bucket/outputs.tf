output "s3_bucket_id" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.bucket
}

output "s3_bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "s3_bucket_policy" {
  description = "The bucket policy document (JSON)."
  value       = aws_s3_bucket_policy.this.policy
}

output "s3_bucket_versioning_status" {
  description = "Versioning status of the bucket."
  value       = aws_s3_bucket_versioning.this.versioning_configuration[0].status
}

output "s3_bucket_sse_algorithm" {
  description = "Default server-side encryption algorithm."
  value       = one(aws_s3_bucket_server_side_encryption_configuration.this.rule[*].apply_server_side_encryption_by_default[0].sse_algorithm)
}

output "s3_bucket_public_access_block" {
  description = "The four public access block settings."
  value = {
    block_public_acls       = aws_s3_bucket_public_access_block.this.block_public_acls
    block_public_policy     = aws_s3_bucket_public_access_block.this.block_public_policy
    ignore_public_acls      = aws_s3_bucket_public_access_block.this.ignore_public_acls
    restrict_public_buckets = aws_s3_bucket_public_access_block.this.restrict_public_buckets
  }
}

output "s3_bucket_object_ownership" {
  description = "Object ownership setting (BucketOwnerEnforced disables ACLs)."
  value       = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership
}

output "s3_bucket_force_destroy" {
  description = "Whether Terraform may delete the bucket with objects in it (always false)."
  value       = aws_s3_bucket.this.force_destroy
}

output "s3_bucket_noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions are deleted."
  value       = one(aws_s3_bucket_lifecycle_configuration.this.rule[*].noncurrent_version_expiration[0].noncurrent_days)
}

output "s3_bucket_access_log_target" {
  description = "Where the bucket's server access logs go ({ bucket, prefix }), or null."
  value = one([
    for logging in aws_s3_bucket_logging.this : { bucket = logging.target_bucket, prefix = logging.target_prefix }
  ])
}

output "s3_bucket_current_version_expiration_days" {
  description = "Days after which current objects expire, or null."
  value       = var.current_version_expiration_days
}
