variable "name" {
  description = "Resource prefix of the project, e.g. \"mlops\". The deploy roles may only manage resources named \"<name>-*\" in their account."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "The name must start with a lowercase letter and contain 2-21 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "AWS region of every account's resources, as a region code (<area>-<geography>-<number>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "The region must be an AWS region code: <area>-<geography>-<number>, all lowercase."
  }
}

variable "tags" {
  description = "Tags applied to every resource through the providers' default_tags."
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
  description = "Id of the operations account (registry, build role, records bucket)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.operations_account_id))
    error_message = "The operations account id must be 12 digits."
  }
}

variable "github_repository" {
  description = "GitHub repository whose workflows may assume the CI roles, as \"owner/repo\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](-?[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "The GitHub repository must be \"owner/repo\" (letters, digits and hyphens in the owner; no wildcards)."
  }
}

variable "build_subjects" {
  description = "Exact OIDC `sub` claims allowed to assume the build role, e.g. [\"repo:acme/ml:ref:refs/heads/main\"]."
  type        = list(string)

  validation {
    condition = length(var.build_subjects) > 0 && alltrue([
      for s in var.build_subjects : startswith(s, "repo:${var.github_repository}:") && length(s) > length("repo:${var.github_repository}:") && !strcontains(s, "*") && !strcontains(s, "?")
    ])
    error_message = "Build subjects must be exact claims of the configured repository (\"repo:<owner>/<repo>:<context>\") without \"*\" or \"?\"."
  }
}

variable "build_role_name" {
  description = "Name of the build role in the operations account (pushes images)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.build_role_name))
    error_message = "The role name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "ecr_repository_name" {
  description = "Name of the image repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", var.ecr_repository_name)) && length(var.ecr_repository_name) >= 2 && length(var.ecr_repository_name) <= 256
    error_message = "The repository name must be 2-256 lowercase characters: letters, digits and . _ - / separators."
  }
}

variable "untagged_image_expiry_days" {
  description = "Days after which untagged images are deleted from the repository."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && var.untagged_image_expiry_days == floor(var.untagged_image_expiry_days)
    error_message = "The untagged image expiry must be a whole number of days, at least 1."
  }
}

variable "state_bucket_name" {
  description = "Terraform state bucket (created by the backend stack); the environment roles get identity-side access to their prefix."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "The state bucket name must be 3-63 characters of lowercase letters, digits and hyphens."
  }
}

variable "records_bucket_name" {
  description = "Promotion records bucket to create in the operations account. Each deploy role writes under \"promotions/<env>/\" and reads \"promotions/\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.records_bucket_name))
    error_message = "The records bucket name must be 3-63 characters of lowercase letters, digits and hyphens."
  }

  validation {
    condition     = var.records_bucket_name != var.state_bucket_name
    error_message = "The records bucket must not be the state bucket."
  }
}

variable "environments" {
  description = "The environment accounts, their CI roles and the names of the workload roles the main stack creates there (the only roles each deploy role may create). Keys must be exactly dev, staging and prod."
  type = map(object({
    account_id           = string
    profile              = optional(string)
    state_prefix         = string
    deploy_role_name     = string
    deploy_subjects      = list(string)
    plan_role_name       = string
    plan_subjects        = list(string)
    boundary_policy_name = string
    execution_role_name  = string
    scheduler_role_name  = string
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
    condition     = length(distinct(concat([var.operations_account_id], [for e in values(var.environments) : e.account_id]))) == length(var.environments) + 1
    error_message = "The operations, dev, staging and prod accounts must be four different accounts (each gets its own GitHub OIDC provider)."
  }

  validation {
    condition     = alltrue([for e in values(var.environments) : can(regex("^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*/$", e.state_prefix))])
    error_message = "Every state prefix must be a relative key prefix ending in \"/\" (e.g. \"main/dev/\") without wildcards."
  }

  validation {
    condition = alltrue(flatten([
      for e in values(var.environments) : [
        for s in concat(e.deploy_subjects, e.plan_subjects) :
        startswith(s, "repo:${var.github_repository}:") && length(s) > length("repo:${var.github_repository}:") && !strcontains(s, "*") && !strcontains(s, "?")
      ]
    ])) && alltrue([for e in values(var.environments) : length(e.deploy_subjects) > 0 && length(e.plan_subjects) > 0])
    error_message = "Every environment needs deploy and plan subjects, each an exact claim of the configured repository (\"repo:<owner>/<repo>:<context>\") without \"*\" or \"?\"."
  }

  validation {
    condition = alltrue(flatten([
      for e in values(var.environments) : [
        for role in [e.deploy_role_name, e.plan_role_name, e.execution_role_name, e.scheduler_role_name] : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", role))
      ]
    ])) && alltrue([for e in values(var.environments) : can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", e.boundary_policy_name))])
    error_message = "Role names must be 1-64 and policy names 1-128 characters of letters, digits and +=,.@_-."
  }
}

variable "access_logs_bucket_name" {
  description = "Log bucket (created by the backend root) that receives the promotion records bucket's S3 server access logs under \"<records bucket>/\". Null: no access logs."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_bucket_name == null || can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.access_logs_bucket_name))
    error_message = "The access log bucket name must be 3-63 characters of lowercase letters, digits and hyphens."
  }
}
