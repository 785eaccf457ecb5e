"""Provider webhooks' adapters: the SNS and SendGrid signature checks."""
