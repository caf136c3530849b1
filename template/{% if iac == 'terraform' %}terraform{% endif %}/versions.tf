terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: destroying aws_api_gateway_account resets the account setting (api.tf relies on it).
      version = "~> 6.0"
    }
  }
}
