"""Reporters: each formats one AuditResult and computes nothing."""
