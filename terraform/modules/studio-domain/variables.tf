variable "domain_name" {
  description = "Name of the SageMaker Studio domain."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.domain_name))
    error_message = "The domain name must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "execution_role_arn" {
  description = "Default execution role of the domain's users and spaces."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the domain's VPC (carries only the home EFS traffic)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "The VPC CIDR must be a valid IPv4 block of /24 or larger."
  }
}

variable "subnet_count" {
  description = "Number of subnets, one per availability zone."
  type        = number
  default     = 2

  validation {
    condition     = var.subnet_count >= 2 && var.subnet_count <= 4
    error_message = "The subnet count must be between 2 and 4."
  }
}
