variable "name" {
  description = "Resource prefix of the project, e.g. \"mlops\". Every name below must start with \"<name>-\": the deploy role may only manage resources named so."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "The name must start with a lowercase letter and contain 2-21 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "AWS region of the environment, as a region code (<area>-<geography>-<number>); the image repository must be in the same region."
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
  description = "AWS CLI profile for the environment account. Null uses the environment's credentials (CI)."
  type        = string
  default     = null

  validation {
    condition     = try(length(trimspace(var.profile)) > 0, true)
    error_message = "The profile must be null (environment credentials) or a profile name."
  }
}

variable "environment" {
  description = "The environment this workspace deploys: dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of \"dev\", \"staging\" or \"prod\"."
  }
}

variable "account_id" {
  description = "Id of the environment's AWS account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "The account id must be 12 digits."
  }
}

variable "operations_account_id" {
  description = "Id of the operations account, which owns the image repository."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.operations_account_id))
    error_message = "The operations account id must be 12 digits."
  }

  validation {
    condition     = var.operations_account_id != var.account_id
    error_message = "The operations account must not be the environment account."
  }
}

variable "ecr_repository_arn" {
  description = "ARN of the image repository in the operations account (same region); the execution role may pull from it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/[a-z0-9._/-]+$", var.ecr_repository_arn))
    error_message = "The image repository must be an ECR repository ARN."
  }

  validation {
    condition     = try(split(":", var.ecr_repository_arn)[4] == var.operations_account_id && split(":", var.ecr_repository_arn)[3] == var.region, false)
    error_message = "The image repository must be in the operations account and in the environment's region (SageMaker pulls images from its own region only)."
  }
}

variable "bucket_name" {
  description = "Name of the environment's ML bucket (data, artifacts, pipeline definitions)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket name must be 3-63 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }

  validation {
    condition     = startswith(var.bucket_name, "${var.name}-")
    error_message = "The bucket name must start with \"<name>-\"; the deploy role cannot manage other buckets."
  }
}

variable "execution_role_name" {
  description = "Name of the SageMaker execution role (pipeline and job role)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.execution_role_name)) && startswith(var.execution_role_name, "${var.name}-")
    error_message = "The execution role name must be 1-64 characters of letters, digits and +=,.@_- and start with \"<name>-\"."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of the permissions boundary (created by the operations stack in this account) attached to every role this stack creates."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "The permissions boundary must be an IAM policy ARN."
  }

  validation {
    condition     = try(split(":", var.permissions_boundary_arn)[4] == var.account_id, false)
    error_message = "The permissions boundary must be a policy of the environment account."
  }
}

variable "model_package_group_name" {
  description = "Name of the SageMaker model package group (model registry) of this environment."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.model_package_group_name)) && startswith(var.model_package_group_name, "${var.name}-")
    error_message = "The model package group name must be 1-63 letters, digits and hyphens and start with \"<name>-\"."
  }
}

variable "pipeline_name" {
  description = "Name of the SageMaker pipeline that the tasks upsert; the retraining schedule starts it."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$", var.pipeline_name)) && startswith(var.pipeline_name, "${var.name}-")
    error_message = "The pipeline name must be 1-256 letters, digits and hyphens and start with \"<name>-\"."
  }
}

variable "retraining" {
  description = "Scheduled retraining: when enabled, an EventBridge Scheduler schedule starts the pipeline with a dedicated role. schedule_name defaults to the pipeline name."
  type = object({
    enabled             = bool
    schedule_expression = string
    scheduler_role_name = string
    schedule_name       = optional(string)
  })

  validation {
    condition     = !var.retraining.enabled || can(regex("^(rate\\(\\d+ (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.retraining.schedule_expression))
    error_message = "The schedule expression must be \"rate(<n> <unit>)\" or \"cron(...)\"."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.retraining.scheduler_role_name)) && startswith(var.retraining.scheduler_role_name, "${var.name}-")
    error_message = "The scheduler role name must be 1-64 characters of letters, digits and +=,.@_- and start with \"<name>-\"."
  }

  validation {
    condition     = var.retraining.schedule_name == null || try(can(regex("^[0-9a-zA-Z._-]{1,64}$", var.retraining.schedule_name)) && startswith(var.retraining.schedule_name, "${var.name}-"), false)
    error_message = "The schedule name must be 1-64 characters of letters, digits and ._- and start with \"<name>-\"."
  }

  validation {
    condition     = var.retraining.schedule_name != null || length(var.pipeline_name) <= 64
    error_message = "The pipeline name is longer than a schedule name may be (64): set retraining.schedule_name."
  }
}

variable "studio" {
  description = "Opt-in SageMaker Studio domain with its own VPC and no NAT gateway. domain_name defaults to \"<name>-<environment>\"."
  type = object({
    enabled     = bool
    domain_name = optional(string)
    vpc_cidr    = optional(string, "10.42.0.0/16")
  })
  default = { enabled = false }

  validation {
    condition     = can(cidrhost(var.studio.vpc_cidr, 0)) && try(tonumber(split("/", var.studio.vpc_cidr)[1]) <= 24, false)
    error_message = "The Studio VPC CIDR must be a valid IPv4 block of /24 or larger."
  }

  validation {
    condition     = var.studio.domain_name == null || try(can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.studio.domain_name)), false)
    error_message = "The Studio domain name must be 1-63 letters, digits and hyphens."
  }
}

variable "serving" {
  description = "How `deno task serve` hosts the environment's model: provisioned instances get blue/green rollback alarms (5xx, average latency above latency_threshold_ms); serverless (false, the default) needs none."
  type = object({
    provisioned          = bool
    latency_threshold_ms = optional(number, 1000)
  })
  default = { provisioned = false }

  validation {
    condition     = var.serving.latency_threshold_ms >= 1 && var.serving.latency_threshold_ms <= 60000
    error_message = "latency_threshold_ms must be between 1 and 60000 (SageMaker's invocation timeout)."
  }
}
