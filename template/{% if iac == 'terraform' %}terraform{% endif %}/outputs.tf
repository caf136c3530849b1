output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.function.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the function."
  value       = aws_cloudwatch_log_group.function.name
}

output "ecr_repository_name" {
  description = "Name of the ECR repository holding the function's images."
  value       = aws_ecr_repository.this.name
}

output "ecr_repository_url" {
  description = "URL of the ECR repository (docker push target, without a tag)."
  value       = aws_ecr_repository.this.repository_url
}

output "image_uri" {
  description = "Image the function runs."
  value       = aws_lambda_function.this.image_uri
}
