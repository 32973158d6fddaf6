output "domain_id" {
  description = "Id of the Studio domain."
  value       = aws_sagemaker_domain.this.id
}

output "domain_url" {
  description = "URL of the Studio domain."
  value       = aws_sagemaker_domain.this.url
}

output "app_network_access_type" {
  description = "Network access type of the domain's apps."
  value       = aws_sagemaker_domain.this.app_network_access_type
}

output "vpc_id" {
  description = "Id of the domain's VPC."
  value       = aws_vpc.this.id
}

output "subnet_ids" {
  description = "Ids of the domain's subnets."
  value       = aws_subnet.this[*].id
}
