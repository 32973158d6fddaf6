output "execution_role_arn" {
  description = "ARN of the SageMaker execution role (pipeline role and job role)."
  value       = aws_iam_role.execution.arn
}

output "bucket_name" {
  description = "Name of the environment's ML bucket."
  value       = module.bucket.s3_bucket_id
}

output "bucket_arn" {
  description = "ARN of the environment's ML bucket."
  value       = module.bucket.s3_bucket_arn
}

output "model_package_group_name" {
  description = "Name of the model package group (model registry)."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "model_package_group_arn" {
  description = "ARN of the model package group."
  value       = aws_sagemaker_model_package_group.this.arn
}

output "pipeline_name" {
  description = "Name of the SageMaker pipeline the tasks upsert."
  value       = var.pipeline_name
}

output "pipeline_arn" {
  description = "ARN of the SageMaker pipeline (it exists once the tasks have upserted it)."
  value       = local.pipeline_arn
}

output "schedule_name" {
  description = "Name of the retraining schedule; null when retraining is disabled."
  value       = one(aws_scheduler_schedule.retraining[*].name)
}

output "scheduler_role_arn" {
  description = "ARN of the role the retraining schedule uses; null when retraining is disabled."
  value       = one(aws_iam_role.scheduler[*].arn)
}

output "studio_domain_id" {
  description = "Id of the SageMaker Studio domain; null unless studio.enabled."
  value       = one(module.studio[*].domain_id)
}

output "studio_domain_url" {
  description = "URL of the SageMaker Studio domain; null unless studio.enabled."
  value       = one(module.studio[*].domain_url)
}

output "endpoint_name" {
  description = "Name of the endpoint `deno task serve` creates in this environment."
  value       = local.endpoint_name
}

output "endpoint_alarm_names" {
  description = "Rollback alarms of a provisioned endpoint (empty for serverless)."
  value       = sort([for a in aws_cloudwatch_metric_alarm.endpoint : a.alarm_name])
}
