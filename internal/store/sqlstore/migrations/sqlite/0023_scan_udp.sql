-- scan_policies.udp: the organization's scheduled scans scan the listed UDP
-- ports too (SNMP, NTP, DNS, SSDP, mDNS, memcached, IPMI, NetBIOS, CoAP,
-- TFTP) and run the UDP checks. Off unless the organization turns it on.
ALTER TABLE scan_policies ADD COLUMN udp INTEGER NOT NULL DEFAULT 0;
