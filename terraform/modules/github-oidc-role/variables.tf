variable "role_name" {
  description = "Name of the IAM role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "The role name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "description" {
  description = "Description of the IAM role."
  type        = string
  default     = "Assumed by GitHub Actions through OIDC."
}

variable "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider (token.actions.githubusercontent.com) in the role's account."
  type        = string
}

variable "subjects" {
  description = "Exact OIDC `sub` claims allowed to assume the role, e.g. [\"repo:acme/ml:ref:refs/heads/main\"]. Matched with StringEquals: no wildcards."
  type        = list(string)

  validation {
    condition     = length(var.subjects) > 0
    error_message = "At least one subject is required."
  }

  validation {
    condition     = alltrue([for s in var.subjects : can(regex("^repo:[A-Za-z0-9-]+/[A-Za-z0-9._-]+:[^*?]+$", s))])
    error_message = "Every subject must be an exact \"repo:<owner>/<repo>:<context>\" claim without \"*\" or \"?\"."
  }
}

variable "policy" {
  description = "Identity policy (JSON) attached inline to the role."
  type        = string

  validation {
    condition     = can(jsondecode(var.policy).Statement)
    error_message = "The policy must be a JSON IAM policy document with a Statement."
  }
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds (3600-43200)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "The maximum session duration must be between 3600 and 43200 seconds."
  }
}
