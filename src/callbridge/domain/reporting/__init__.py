"""Reporting: the KPIs live reports and the simulator share."""
