variable "name" {
  description = "Resource prefix of the project. Resources the deploy role may manage in this account are named \"<name>-*\"; the roles it may manage are on the IAM path \"/<name>-workload/\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "The name must match ^[a-z][a-z0-9-]{1,20}$."
  }
}

variable "environment" {
  description = "Environment this account serves: dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of \"dev\", \"staging\" or \"prod\"."
  }
}

variable "region" {
  description = "Region of the environment's resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "The region must be an AWS region code: <area>-<geography>-<number>, all lowercase."
  }
}

variable "account_id" {
  description = "Id of the environment's AWS account (the account of this module's provider)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "The account id must be 12 digits."
  }
}

variable "state_bucket_name" {
  description = "Terraform state bucket in the operations account."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "The bucket name must be 3-63 characters of lowercase letters, digits and hyphens."
  }
}

variable "state_prefix" {
  description = "Key prefix of this environment's state objects in the state bucket, ending in \"/\"."
  type        = string

  validation {
    condition     = endswith(var.state_prefix, "/")
    error_message = "The state prefix must end with \"/\"."
  }
}

variable "records_bucket_name" {
  description = "Promotion records bucket in the operations account."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.records_bucket_name))
    error_message = "The bucket name must be 3-63 characters of lowercase letters, digits and hyphens."
  }
}

variable "ecr_repository_arn" {
  description = "ARN of the image repository (operations account) that workload roles may pull from."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", var.ecr_repository_arn))
    error_message = "The image repository must be an ECR repository ARN."
  }
}

variable "deploy_role_name" {
  description = "Name of the deploy role created in this account."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.deploy_role_name))
    error_message = "The role name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "deploy_subjects" {
  description = "Exact OIDC `sub` claims allowed to assume the deploy role."
  type        = list(string)
}

variable "plan_role_name" {
  description = "Name of the read-only plan role created in this account."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.plan_role_name))
    error_message = "The role name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "plan_subjects" {
  description = "Exact OIDC `sub` claims allowed to assume the plan role."
  type        = list(string)
}

variable "execution_role_name" {
  description = "Name of the SageMaker execution role the main stack creates on the workload path; the deploy role may create this role and the scheduler role, no other."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.execution_role_name))
    error_message = "The role name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "scheduler_role_name" {
  description = "Name of the retraining scheduler role the main stack creates on the workload path; the deploy role may create this role and the execution role, no other."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.scheduler_role_name))
    error_message = "The role name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "boundary_policy_name" {
  description = "Name of the permissions boundary policy that every workload role in this account must carry."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", var.boundary_policy_name))
    error_message = "The policy name must be 1-128 characters of letters, digits and +=,.@_-."
  }
}
