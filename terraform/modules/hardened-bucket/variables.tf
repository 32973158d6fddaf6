variable "bucket_name" {
  description = "Name of the bucket. Lowercase letters, digits and hyphens only (no dots, so virtual-hosted TLS certificates always match)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket name must be 3-63 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "sse_algorithm" {
  description = "Default server-side encryption: \"AES256\" (S3-managed keys, works across accounts without a key policy) or \"aws:kms\"."
  type        = string
  default     = "AES256"

  validation {
    condition     = contains(["AES256", "aws:kms"], var.sse_algorithm)
    error_message = "The SSE algorithm must be \"AES256\" or \"aws:kms\"."
  }
}

variable "kms_key_arn" {
  description = "KMS key for \"aws:kms\" encryption. Null uses the AWS-managed aws/s3 key, which other accounts cannot use."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$", var.kms_key_arn))
    error_message = "The KMS key must be a key or alias ARN."
  }

  validation {
    condition     = var.kms_key_arn == null || var.sse_algorithm == "aws:kms"
    error_message = "A KMS key can only be set when the SSE algorithm is \"aws:kms\"."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days == floor(var.noncurrent_version_expiration_days)
    error_message = "The noncurrent version expiration must be a whole number of days, at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && var.abort_incomplete_multipart_upload_days == floor(var.abort_incomplete_multipart_upload_days)
    error_message = "The multipart upload expiry must be a whole number of days, at least 1."
  }
}

variable "policy_statements" {
  description = "Additional IAM policy statements (HCL objects with Sid, Effect, Principal, Action, Resource and optional Condition) appended to the bucket policy after the TLS-only statements."
  type        = any
  default     = []

  validation {
    condition = alltrue([
      for statement in var.policy_statements :
      can(regex("^[A-Za-z0-9]+$", statement.Sid)) && contains(["Allow", "Deny"], statement.Effect)
    ])
    error_message = "Every statement needs an alphanumeric Sid and an Effect of \"Allow\" or \"Deny\"."
  }
}

variable "current_version_expiration_days" {
  description = "Days after which current objects expire (log buckets), or null to keep them until deleted."
  type        = number
  default     = null

  validation {
    condition     = var.current_version_expiration_days == null || try(var.current_version_expiration_days >= 1 && var.current_version_expiration_days == floor(var.current_version_expiration_days), false)
    error_message = "The current version expiration must be null or a whole number of days, at least 1."
  }
}

variable "access_log_target" {
  description = "Where S3 server access logs of this bucket go: the log bucket and a key prefix ending in \"/\". Null: no access logs."
  type = object({
    bucket = string
    prefix = string
  })
  default = null

  validation {
    condition     = var.access_log_target == null || try(endswith(var.access_log_target.prefix, "/"), false)
    error_message = "The access log prefix must end in \"/\"."
  }
}
