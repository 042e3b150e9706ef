// Package config is Rampart's one typed configuration: built-in defaults,
// then a YAML file, then environment variables, then command-line flags,
// merged once at start-up, validated once, and passed down by value. Nothing
// else in Rampart reads the environment or the flag set.
//
// Each layer overrides only the settings it names: a file that sets only
// region leaves every other default alone, an empty environment variable
// counts as unset, and a flag counts only if it was given on the command
// line.
//
// # File
//
// The file is named by --config or RAMPART_CONFIG (the flag wins). Unknown
// keys are an error, reported with the file name and line, so a misspelt
// setting is never silently ignored:
//
//	data: /var/lib/rampart
//	database: postgres://rampart@db.internal/rampart?sslmode=verify-full
//	nats: nats://nats-1:4222,nats://nats-2:4222
//	listen: 0.0.0.0:8080
//	region: hn-1
//	log_level: info
//	log_format: json
//	public_url: https://rampart.example.gov.vn
//	admin_password: "..."   # first start only; better in the environment
//	scanner:
//	  user_agent: "Rampart-Scanner/1.0 (+https://rampart.example.gov.vn/scanner)"
//	  contact: soc@example.gov.vn
//
// Relative paths are relative to the working directory, not to the file.
//
// # Settings
//
//	key                 env                         flag          default
//	------------------  --------------------------  ------------  -----------------------
//	(the file itself)   RAMPART_CONFIG              --config      none
//	data                RAMPART_DATA                --data        ./rampart-data
//	database            RAMPART_DATABASE            --database    SQLite at <data>/rampart.db
//	nats                RAMPART_NATS                --nats        embedded server
//	nats_listen         RAMPART_NATS_LISTEN         --nats-listen 127.0.0.1, random port (*)
//	nats_creds          RAMPART_NATS_CREDS          --nats-creds  none
//	nats_ca             RAMPART_NATS_CA             --nats-ca     the system's roots
//	listen              RAMPART_LISTEN              --listen (*)  127.0.0.1:8080
//	region              RAMPART_REGION              --region      default
//	log_level           RAMPART_LOG_LEVEL           --log-level   info
//	log_format          RAMPART_LOG_FORMAT          --log-format  text
//	public_url          RAMPART_PUBLIC_URL          --public-url  none
//	admin_password      RAMPART_ADMIN_PASSWORD      (none)        none
//	admin_token         RAMPART_ADMIN_TOKEN         (none)        none
//	scanner.user_agent  RAMPART_SCANNER_USER_AGENT  (none)        Rampart-Scanner/<version> (+<public_url>/scanner)
//	scanner.contact     RAMPART_SCANNER_CONTACT     (none)        none
//	smtp                RAMPART_SMTP_URL            --smtp        none (no mail)
//	mail_from           RAMPART_MAIL_FROM           (none)        none
//	alert_window        RAMPART_ALERT_WINDOW        (none)        1m
//	scanner.ports       RAMPART_SCANNER_PORTS       (none)        top1000
//	scanner.resolver    RAMPART_SCANNER_RESOLVER    (none)        the system's resolver
//	findings_expiry     RAMPART_FINDINGS_EXPIRY     (none)        intel=30,sensor=7,dns=7,discovery=30,monitor=3
//	metrics_public      RAMPART_METRICS_PUBLIC      (none)        false: /metrics needs a platform admin's or analyst's token
//	internal_deployment RAMPART_INTERNAL_DEPLOYMENT (none)        false: members may not claim private, loopback or link-local ranges
//	claims.max_ipv4_prefix (none)                   (none)        16: a member's widest IPv4 claim (/16)
//	claims.max_ipv6_prefix (none)                   (none)        32: a member's widest IPv6 claim (/32)
//	webhook_allow       RAMPART_WEBHOOK_ALLOW       (none)        (none): webhooks reach public addresses only
//	monitor.*           (none)                      (none)        see MonitorConfig: DNS, expiry, look-alikes, CT, BGP, exposure
//	discovery.*         (none)                      (none)        see DiscoveryConfig: sources, resolver and rate, CT logs, CT files, routing files, interval
//
// (*) --listen and --nats-listen exist on `rampart serve` only.
//
// Values:
//
//   - data: directory for the SQLite database, the embedded NATS store and
//     other local state.
//   - database: "" for SQLite at <data>/rampart.db; "sqlite:///abs/file.db"
//     or "sqlite://rel/file.db" for SQLite elsewhere;
//     "postgres://user:pass@host:5432/db?sslmode=..." (or "postgresql://")
//     for PostgreSQL.
//   - nats: "" to run an embedded NATS server; otherwise a comma-separated
//     list of nats:// or tls:// URLs of an external cluster.
//   - nats_listen: where the embedded NATS server takes remote workers:
//     host:port, or "none" for no listener (the in-process worker only).
//     It admits only the platform's key and workers' keys issued by
//     `rampart worker credentials` (docs/nats.md).
//   - nats_creds: for `rampart worker`, the file `rampart worker
//     credentials` wrote; for processes on an external NATS, an NKEY seed
//     or a .creds file of their user. nats_ca: PEM CAs for tls:// URLs.
//   - listen: host:port for the web console and API. An empty host listens
//     on every interface.
//   - region: the vantage point of this process, 1-32 of [a-z0-9-]; workers
//     take jobs for their region.
//   - log_level: debug, info, warn or error. log_format: text or json.
//   - public_url: the http(s) URL people reach the console at, for links in
//     mail and in the scanner's User-Agent.
//   - admin_password, admin_token: create the first platform admin and API
//     token on first start. Secrets have no flags, because the command line
//     of a process is visible to every local user (ps, /proc); set them in
//     the environment or in a file only root can read. admin_password must
//     pass auth.ValidatePassword; admin_token must be at least 32 printable
//     characters without spaces (a "rpt_..." API token is 44).
//   - scanner.user_agent: the User-Agent of every probe; it must identify
//     Rampart so a target's operator can tell who is knocking.
//     scanner.contact: an e-mail address for target operators.
//   - webhook_allow: comma-separated CIDRs of private networks (RFC 1918,
//     fc00::/7, 100.64.0.0/10) that webhooks may reach, for organizations
//     whose SOC listens on one. It is one platform-wide list that only
//     whoever runs the platform sets, not a per-organization setting: a
//     member who registers a webhook cannot widen it. Loopback, link-local
//     and this host's own addresses stay refused whatever it says.
//
// # Use
//
//	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
//	f := config.Register(fs, true)
//	if err := fs.Parse(args); err != nil { ... }
//	cfg, err := config.Load(fs, f, os.Getenv)
//	if err != nil { ... }
//	logger.Info("starting", "config", cfg) // Config logs redacted
//
// This package imports the standard library, gopkg.in/yaml.v3 and the auth
// domain package (for its password rule); nothing imports it but the cli.
package config
