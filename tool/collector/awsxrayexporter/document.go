package awsxrayexporter

// X-Ray segment document, as described in the X-Ray developer guide ("AWS X-Ray
// segment documents") and its JSON schema (xray-segmentdocument-schema-v1.0.0).
// Only the fields this exporter fills. One document per span: a segment, or an
// independent subsegment ("type": "subsegment" with "parent_id").
type segment struct {
	Name        string                    `json:"name"`
	ID          string                    `json:"id"`
	TraceID     string                    `json:"trace_id"`
	StartTime   float64                   `json:"start_time"`
	EndTime     *float64                  `json:"end_time,omitempty"`
	InProgress  bool                      `json:"in_progress,omitempty"`
	ParentID    string                    `json:"parent_id,omitempty"`
	Type        string                    `json:"type,omitempty"`
	Namespace   string                    `json:"namespace,omitempty"`
	Origin      string                    `json:"origin,omitempty"`
	User        string                    `json:"user,omitempty"`
	Error       bool                      `json:"error,omitempty"`
	Throttle    bool                      `json:"throttle,omitempty"`
	Fault       bool                      `json:"fault,omitempty"`
	Cause       *cause                    `json:"cause,omitempty"`
	HTTP        *httpInfo                 `json:"http,omitempty"`
	AWS         *awsInfo                  `json:"aws,omitempty"`
	SQL         *sqlInfo                  `json:"sql,omitempty"`
	Service     *serviceInfo              `json:"service,omitempty"`
	Links       []link                    `json:"links,omitempty"`
	Annotations map[string]any            `json:"annotations,omitempty"`
	Metadata    map[string]map[string]any `json:"metadata,omitempty"`
}

type cause struct {
	Exceptions []exception `json:"exceptions"`
}

type exception struct {
	ID      string `json:"id"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message,omitempty"`
	Remote  bool   `json:"remote,omitempty"`
	// Truncated counts the stack frames left out of Stack.
	Truncated int `json:"truncated,omitempty"`
	// Cause is the ID of the exception that caused this one.
	Cause string       `json:"cause,omitempty"`
	Stack []stackFrame `json:"stack,omitempty"`
}

type stackFrame struct {
	Path  string `json:"path,omitempty"`
	Line  int    `json:"line,omitempty"`
	Label string `json:"label,omitempty"`
}

type httpInfo struct {
	Request  *httpRequest  `json:"request,omitempty"`
	Response *httpResponse `json:"response,omitempty"`
}

type httpRequest struct {
	Method    string `json:"method,omitempty"`
	URL       string `json:"url,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	ClientIP  string `json:"client_ip,omitempty"`
	// XForwardedFor: client_ip came from a forwarding header, not the socket.
	XForwardedFor bool `json:"x_forwarded_for,omitempty"`
}

type httpResponse struct {
	Status        int64 `json:"status,omitempty"`
	ContentLength int64 `json:"content_length,omitempty"`
}

type awsInfo struct {
	AccountID      string         `json:"account_id,omitempty"`
	Operation      string         `json:"operation,omitempty"`
	Region         string         `json:"region,omitempty"`
	RequestID      string         `json:"request_id,omitempty"`
	QueueURL       string         `json:"queue_url,omitempty"`
	TableName      string         `json:"table_name,omitempty"`
	TableNames     []string       `json:"table_names,omitempty"`
	Retries        *int64         `json:"retries,omitempty"`
	CloudWatchLogs []logGroup     `json:"cloudwatch_logs,omitempty"`
	XRay           *xrayInfo      `json:"xray,omitempty"`
	EC2            *ec2Info       `json:"ec2,omitempty"`
	ECS            *ecsInfo       `json:"ecs,omitempty"`
	EKS            *eksInfo       `json:"eks,omitempty"`
	Beanstalk      *beanstalkInfo `json:"elastic_beanstalk,omitempty"`
}

type logGroup struct {
	LogGroup string `json:"log_group"`
	ARN      string `json:"arn,omitempty"`
}

type xrayInfo struct {
	SDK                 string `json:"sdk,omitempty"`
	SDKVersion          string `json:"sdk_version,omitempty"`
	AutoInstrumentation bool   `json:"auto_instrumentation"`
}

type ec2Info struct {
	InstanceID       string `json:"instance_id,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	InstanceSize     string `json:"instance_size,omitempty"`
	AmiID            string `json:"ami_id,omitempty"`
}

type ecsInfo struct {
	Container        string `json:"container,omitempty"`
	ContainerID      string `json:"container_id,omitempty"`
	TaskARN          string `json:"task_arn,omitempty"`
	TaskFamily       string `json:"task_family,omitempty"`
	ClusterARN       string `json:"cluster_arn,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	LaunchType       string `json:"launch_type,omitempty"`
}

type eksInfo struct {
	ClusterName string `json:"cluster_name,omitempty"`
	Pod         string `json:"pod,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
}

type beanstalkInfo struct {
	EnvironmentName string `json:"environment_name,omitempty"`
	VersionLabel    string `json:"version_label,omitempty"`
	DeploymentID    int64  `json:"deployment_id,omitempty"`
}

type sqlInfo struct {
	URL              string `json:"url,omitempty"`
	ConnectionString string `json:"connection_string,omitempty"`
	SanitizedQuery   string `json:"sanitized_query,omitempty"`
	DatabaseType     string `json:"database_type,omitempty"`
	User             string `json:"user,omitempty"`
}

type serviceInfo struct {
	Version string `json:"version,omitempty"`
}

type link struct {
	TraceID    string         `json:"trace_id"`
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes,omitempty"`
}
