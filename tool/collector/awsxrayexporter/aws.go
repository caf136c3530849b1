package awsxrayexporter

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

var (
	keysRegion     = []string{"aws.region", "cloud.region"}
	keysRequestID  = []string{"aws.request_id", "aws.requestId"}
	keysQueueURL   = []string{"aws.sqs.queue.url", "aws.queue_url", "aws.sqs.queue_url", "messaging.url"}
	keysTableNames = []string{"aws.dynamodb.table_names", "aws.table_name"}
	// ARNs of resources an AWS call touched; their account is the callee's.
	keysResourceARN = []string{
		"aws.sns.topic.arn", "aws.secretsmanager.secret.arn", "aws.step_functions.state_machine.arn",
		"aws.step_functions.activity.arn", "aws.lambda.resource_mapping.id", "aws.kinesis.stream_arn",
	}
	accountID = regexp.MustCompile(`^\d{12}$`)
)

// makeAWS builds the aws block. Segments describe where the service runs (SDK,
// account, log groups, EC2/ECS/EKS/Beanstalk); AWS SDK subsegments describe
// the call (operation, region, request id, queue, tables, the callee's account).
func (c converter) makeAWS(a *attrs, res pcommon.Map, isSegment, isAWS bool) *awsInfo {
	info := &awsInfo{}
	if isAWS {
		info.Operation = a.str("rpc.method")
		info.Region = a.str(keysRegion...)
		if info.Region == "" {
			info.Region = strAttr(res, "cloud.region")
		}
		info.RequestID = a.str(keysRequestID...)
		info.QueueURL = a.str(keysQueueURL...)
		switch tables := a.strings(keysTableNames...); len(tables) {
		case 0:
		case 1:
			info.TableName = tables[0]
		default:
			info.TableNames = tables
		}
		if n, ok := a.integer("retry_attempts"); ok && n > 0 {
			info.Retries = &n
		}
		info.AccountID = a.str("aws.account_id")
		if info.AccountID == "" {
			info.AccountID = accountOf(info.QueueURL, a.peek(keysResourceARN...))
		}
	}
	if isSegment {
		// The account the service runs in (a root AWS call keeps its callee's
		// account when that is unknown).
		if own := a.str("cloud.account.id", "aws.account_id"); own != "" {
			info.AccountID = own
		} else if own := strAttr(res, "cloud.account.id"); own != "" {
			info.AccountID = own
		}
		info.XRay = sdkInfo(res)
		info.CloudWatchLogs = c.logGroupsOf(res)
		platformInfo(info, res)
	}
	if info.isEmpty() {
		return nil
	}
	return info
}

func (i *awsInfo) isEmpty() bool {
	return i.AccountID == "" && i.Operation == "" && i.Region == "" && i.RequestID == "" &&
		i.QueueURL == "" && i.TableName == "" && len(i.TableNames) == 0 && i.Retries == nil &&
		len(i.CloudWatchLogs) == 0 && i.XRay == nil && i.EC2 == nil && i.ECS == nil &&
		i.EKS == nil && i.Beanstalk == nil
}

// accountOf reads the owning account from an SQS queue URL
// (https://sqs.<region>.amazonaws.com/<account>/<queue>) or an ARN
// (arn:<partition>:<service>:<region>:<account>:...).
func accountOf(queueURL, arn string) string {
	if queueURL != "" {
		if u, err := url.Parse(queueURL); err == nil {
			if parts := strings.Split(strings.Trim(u.Path, "/"), "/"); len(parts) == 2 && accountID.MatchString(parts[0]) {
				return parts[0]
			}
		}
	}
	if parts := strings.Split(arn, ":"); len(parts) > 4 && parts[0] == "arn" && accountID.MatchString(parts[4]) {
		return parts[4]
	}
	return ""
}

// logGroupsOf: the resource's aws.log.group.arns (or .names), else the
// exporter's aws_log_groups, else on Lambda /aws/lambda/<function> (from the
// resource's faas.name, or the extension's AWS_LAMBDA_FUNCTION_NAME). The
// console shows these groups' logs with the trace.
func (c converter) logGroupsOf(res pcommon.Map) []logGroup {
	var out []logGroup
	if v, ok := res.Get("aws.log.group.arns"); ok {
		for _, arn := range stringSlice(v) {
			out = append(out, logGroup{LogGroup: logGroupFromARN(arn), ARN: arn})
		}
	}
	if len(out) == 0 {
		if v, ok := res.Get("aws.log.group.names"); ok {
			for _, name := range stringSlice(v) {
				out = append(out, logGroup{LogGroup: name})
			}
		}
	}
	if len(out) == 0 {
		for _, name := range c.logGroups {
			out = append(out, logGroup{LogGroup: name})
		}
	}
	if len(out) == 0 && strAttr(res, "cloud.platform") == "aws_lambda" {
		// Lambda's default group for the function (the resource detector's faas.name).
		if fn := strAttr(res, "faas.name"); fn != "" {
			out = append(out, logGroup{LogGroup: "/aws/lambda/" + fn})
		}
	}
	if len(out) == 0 && c.lambdaLogGroup != "" {
		out = append(out, logGroup{LogGroup: c.lambdaLogGroup})
	}
	return out
}

// logGroupFromARN: arn:aws:logs:<region>:<account>:log-group:<name>[:*].
func logGroupFromARN(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 7 && parts[5] == "log-group" {
		return parts[6]
	}
	return arn
}

// sdkInfo describes the instrumentation SDK from the resource.
func sdkInfo(res pcommon.Map) *xrayInfo {
	name, lang := strAttr(res, "telemetry.sdk.name"), strAttr(res, "telemetry.sdk.language")
	if name == "" && lang == "" {
		return nil
	}
	if name == "" {
		name = "opentelemetry"
	}
	info := &xrayInfo{SDK: name, SDKVersion: strAttr(res, "telemetry.sdk.version")}
	if lang != "" {
		info.SDK += " for " + lang
	}
	_, info.AutoInstrumentation = res.Get("telemetry.auto.version")
	return info
}

// platformInfo adds what X-Ray shows about EC2, ECS, EKS and Elastic Beanstalk.
func platformInfo(info *awsInfo, res pcommon.Map) {
	platform := strAttr(res, "cloud.platform")
	zone := strAttr(res, "cloud.availability_zone")
	switch platform {
	case "aws_ec2":
		info.EC2 = &ec2Info{
			InstanceID: strAttr(res, "host.id"), AvailabilityZone: zone,
			InstanceSize: strAttr(res, "host.type"), AmiID: strAttr(res, "host.image.id"),
		}
	case "aws_ecs":
		info.ECS = &ecsInfo{
			Container: strAttr(res, "container.name"), ContainerID: strAttr(res, "container.id"),
			TaskARN: strAttr(res, "aws.ecs.task.arn"), TaskFamily: strAttr(res, "aws.ecs.task.family"),
			ClusterARN: strAttr(res, "aws.ecs.cluster.arn"), AvailabilityZone: zone,
			LaunchType: strAttr(res, "aws.ecs.launchtype"),
		}
	case "aws_eks":
		info.EKS = &eksInfo{
			ClusterName: strAttr(res, "k8s.cluster.name"), Pod: strAttr(res, "k8s.pod.name"),
			ContainerID: strAttr(res, "container.id"),
		}
	case "aws_elastic_beanstalk":
		id, _ := strconv.ParseInt(strAttr(res, "service.instance.id"), 10, 64)
		info.Beanstalk = &beanstalkInfo{
			EnvironmentName: strAttr(res, "service.namespace"),
			VersionLabel:    strAttr(res, "service.version"), DeploymentID: id,
		}
	}
}
