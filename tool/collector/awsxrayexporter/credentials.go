package awsxrayexporter

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region and credentials come from the environment only. Lambda gives every
// extension the function role's temporary credentials and the region in
// environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION) for the lifetime of the execution
// environment. The AWS SDK's default chain (shared config and credentials
// files, SSO, web identity, assume-role, credential processes, ECS and EC2
// instance metadata) would cost ~1.7 MB of the extension's binary, mapped at
// every cold start, and finds nothing more in Lambda. Outside Lambda, export
// credentials into the environment (for example
// `eval "$(aws configure export-credentials --format env)"`).

// resolveRegion is the exporter's region setting, else AWS_REGION, else
// AWS_DEFAULT_REGION.
func resolveRegion(configured string, getenv func(string) string) (string, error) {
	for _, r := range []string{configured, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")} {
		if r = strings.TrimSpace(r); r != "" {
			return r, nil
		}
	}
	return "", errors.New("no AWS region: set the awsxray exporter's region, or AWS_REGION " +
		"(Lambda sets it for the function and its extensions)")
}

// environmentCredentials are the static credentials in the environment.
func environmentCredentials(getenv func(string) string) (aws.CredentialsProvider, error) {
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, errors.New("no AWS credentials in the environment: the awsxray exporter signs with " +
			"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which Lambda sets for the " +
			"function's role; outside Lambda export them (for example " +
			"`eval \"$(aws configure export-credentials --format env)\"`)")
	}
	return credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")), nil
}
