"""The CDK stack: one thin stack composed of one construct per capability."""
