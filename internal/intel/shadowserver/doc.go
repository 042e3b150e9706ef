// Package shadowserver reads Shadowserver's CSV reports into intel
// records, one per row, about the constituent-side address, network, name
// or URL: an open SNMP service, a sinkholed drone, a compromised website,
// a listed address.
//
// Which column means what is data, not code: a schema in the format
// Shadowserver publishes for IntelMQ (a JSON object of report types, each
// with feed_name, file_name, constant_fields, and required_fields and
// optional_fields as [IntelMQ key, column, converter]). The package ships
// its own schema (schema.json, embedded) for sixteen report types, with a
// "rampart" block per report that sets our category, confidence, TLP and
// the columns kept as detail (the risky property: community,
// amplification, banner ...). LoadSchema reads an updated file, ours or
// Shadowserver's own intelmq.json; Schema.Merge lays it over the shipped
// one and keeps our blocks. A report format change is a schema update.
//
// The report type comes from the file name as Shadowserver writes it
// ("2026-12-01-scan_snmp-vietnam-geo.csv" is scan_snmp) or is named; a
// type the schema does not know is an error, as is a header without a
// required column (the format changed: update the schema).
//
// Each row becomes an intel.Record with feed "shadowserver:<type>":
//
//   - scan_* reports: CategoryExposed, with the port, protocol, service,
//     tag and the report's risky property in Detail;
//   - event4_sinkhole: CategoryCompromised, the infection as a
//     "malware:" label and detail, the sinkhole or C2 end as dst_*;
//   - compromised_website: CategoryMalware about the URL (http_host and
//     url), else the host name, else the address;
//   - blocklist: CategoryBlocklist about the address or network.
//
// Reports without our block get a category from their IntelMQ
// classification. Raw is the row written back as CSV, cut to
// intel.MaxRaw.
//
// Bad rows are decided per field. A required field that does not convert
// (a time that is not a time, a port that is not a number) rejects the row
// with the reason; so does a row without any valid constituent-side value.
// An optional field that does not convert (event4_sinkhole's dst_ip
// 148.81.111.11.12) is dropped and its column named in Detail["invalid"]:
// the row still tells the owner of the source address something true.
//
// Parse streams line by line with bounded lines (a quoted field may span a
// few lines), so a report of millions of rows is read in constant memory;
// the quote-tolerant splitter reads fields such as
// "Basic realm=\"\"OpenWebif\"\"" as one field.
//
// The package is a domain package: standard library, internal/intel and
// internal/intel/feedcsv.
package shadowserver
