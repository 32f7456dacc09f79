"""SMS ordering by service code, order notices and messaging providers (see docs/sms.md)."""
