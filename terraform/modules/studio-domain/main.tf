# An opt-in SageMaker Studio domain that costs nothing per hour at rest:
# AppNetworkAccessType = PublicInternetOnly sends app traffic through the
# SageMaker-managed network, so the domain's own VPC only carries home EFS
# traffic and needs no internet gateway, NAT gateway or VPC endpoint.

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.domain_name }
}

# Take every rule away from the default security group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "this" {
  count = var.subnet_count

  vpc_id                  = aws_vpc.this.id
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, count.index)
  availability_zone       = data.aws_availability_zones.available.names[count.index]
  map_public_ip_on_launch = false

  tags = { Name = "${var.domain_name}-${data.aws_availability_zones.available.names[count.index]}" }
}

resource "aws_sagemaker_domain" "this" {
  domain_name             = var.domain_name
  auth_mode               = "IAM"
  vpc_id                  = aws_vpc.this.id
  subnet_ids              = aws_subnet.this[*].id
  app_network_access_type = "PublicInternetOnly"

  default_user_settings {
    execution_role = var.execution_role_arn
  }

  retention_policy {
    home_efs_file_system = "Retain"
  }
}
