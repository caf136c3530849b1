package awsxrayexporter

import (
	"net"
	"strconv"
	"strings"
)

// sqlSystems are the db.system / db.system.name values of SQL engines. Other
// databases (DynamoDB, Redis, MongoDB, ...) get no sql block: X-Ray's sql
// fields (sanitized_query, database_type) describe SQL statements.
var sqlSystems = map[string]bool{
	"mysql": true, "mariadb": true, "postgresql": true, "mssql": true, "microsoft.sql_server": true,
	"oracle": true, "oracle.db": true, "db2": true, "ibm.db2": true, "sqlite": true, "h2": true,
	"h2database": true, "hsqldb": true, "derby": true, "hive": true, "teradata": true,
	"cockroachdb": true, "redshift": true, "aws.redshift": true, "trino": true, "spanner": true,
	"gcp.spanner": true, "clickhouse": true, "firebird": true, "firebirdsql": true,
	"sybase": true, "sap.hana": true, "hanadb": true, "vertica": true, "netezza": true,
	"informix": true, "ingres": true, "interbase": true, "maxdb": true, "pervasive": true,
	"pointbase": true, "instantdb": true, "cache": true, "intersystems.cache": true,
	"adabas": true, "edb": true, "filemaker": true, "progress": true, "other_sql": true,
}

// sqlEngine returns the span's database system if it is a SQL engine, else "".
func sqlEngine(a *attrs) string {
	system := strings.ToLower(a.peek("db.system.name", "db.system"))
	if sqlSystems[system] {
		return system
	}
	return ""
}

// makeSQL builds the sql block of a SQL client call. The URL is
// <system>://<host>[:port]/<database>; passwords never appear because the
// connection string is not read.
func makeSQL(a *attrs, system string) *sqlInfo {
	a.str("db.system.name", "db.system")
	info := &sqlInfo{
		DatabaseType:   system,
		SanitizedQuery: a.str("db.query.text", "db.statement"),
		User:           truncate(a.str("db.user"), maxFieldLength),
	}
	database := a.str("db.namespace", "db.name")
	host := a.str("server.address", "net.peer.name")
	if host != "" {
		if _, _, err := net.SplitHostPort(host); err != nil {
			if port, ok := a.integer("server.port", "net.peer.port"); ok && port > 0 {
				host = net.JoinHostPort(host, strconv.FormatInt(port, 10))
			}
		}
		info.URL = system + "://" + host + "/" + database
	} else if database != "" {
		info.ConnectionString = database
	}
	return info
}
