"""Background work: the pipeline drain and the outbox sender."""
