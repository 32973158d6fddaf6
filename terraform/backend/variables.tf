variable "name" {
  description = "Resource prefix of the project, e.g. \"mlops\". Accepted so every root takes the same common variables; the bucket name is passed in whole."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "The name must start with a lowercase letter and contain 2-21 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "AWS region of the state bucket, as a region code (<area>-<geography>-<number>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "The region must be an AWS region code: <area>-<geography>-<number>, all lowercase."
  }
}

variable "tags" {
  description = "Tags applied to every resource through the provider's default_tags."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "Tag keys must be at most 128 characters and not start with \"aws:\"; values at most 256 characters."
  }
}

variable "profile" {
  description = "AWS CLI profile for the operations account. Null uses the environment's credentials (CI)."
  type        = string
  default     = null

  validation {
    condition     = try(length(trimspace(var.profile)) > 0, true)
    error_message = "The profile must be null (environment credentials) or a profile name."
  }
}

variable "operations_account_id" {
  description = "Id of the operations account, which owns the state bucket."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.operations_account_id))
    error_message = "The operations account id must be 12 digits."
  }
}

variable "state_bucket_name" {
  description = "Name of the Terraform state bucket to create."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "The state bucket name must be 3-63 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "environments" {
  description = "The environment accounts whose deploy and plan roles may use the state bucket, each only under its own state prefix. Keys must be exactly dev, staging and prod."
  type = map(object({
    account_id       = string
    state_prefix     = string
    deploy_role_name = string
    plan_role_name   = string
  }))

  validation {
    condition     = length(var.environments) == 3 && alltrue([for env in ["dev", "staging", "prod"] : contains(keys(var.environments), env)])
    error_message = "The environments must be exactly \"dev\", \"staging\" and \"prod\"."
  }

  validation {
    condition     = alltrue([for e in values(var.environments) : can(regex("^[0-9]{12}$", e.account_id))])
    error_message = "Every environment account id must be 12 digits."
  }

  validation {
    condition     = alltrue([for e in values(var.environments) : can(regex("^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*/$", e.state_prefix))])
    error_message = "Every state prefix must be a relative key prefix ending in \"/\" (e.g. \"main/dev/\") without wildcards."
  }

  validation {
    condition = alltrue(flatten([
      for a, ea in var.environments : [
        for b, eb in var.environments : a == b || !startswith(ea.state_prefix, eb.state_prefix)
      ]
    ]))
    error_message = "State prefixes must not overlap: no environment's prefix may start with another's."
  }

  validation {
    condition = alltrue(flatten([
      for e in values(var.environments) : [
        for role in [e.deploy_role_name, e.plan_role_name] : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", role))
      ]
    ]))
    error_message = "Every role name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent state versions are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days == floor(var.noncurrent_version_expiration_days)
    error_message = "The noncurrent version expiration must be a whole number of days, at least 1."
  }
}

variable "access_logs" {
  description = "Opt-in S3 server access logs: a log bucket this stack creates (S3-managed encryption, as log delivery requires), written only by the S3 logging service on behalf of the listed buckets of the operations account, its objects kept retention_days. The state bucket logs into it under \"<state bucket>/\"; the operations root points the promotion records bucket at it too. Null: no access logs."
  type = object({
    bucket_name         = string
    retention_days      = number
    source_bucket_names = list(string)
  })
  default = null

  validation {
    condition     = var.access_logs == null || try(can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.access_logs.bucket_name)), false)
    error_message = "The access log bucket name must be 3-63 characters of lowercase letters, digits and hyphens."
  }

  validation {
    condition     = var.access_logs == null || try(var.access_logs.retention_days >= 1 && var.access_logs.retention_days == floor(var.access_logs.retention_days), false)
    error_message = "The access log retention must be a whole number of days, at least 1."
  }

  validation {
    condition     = var.access_logs == null || try(length(var.access_logs.source_bucket_names) > 0 && !contains(var.access_logs.source_bucket_names, var.access_logs.bucket_name), false)
    error_message = "The access logs need at least one source bucket, and the log bucket may not log into itself."
  }
}
