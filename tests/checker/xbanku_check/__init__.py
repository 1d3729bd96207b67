"""An independent checker for xbanku: it folds the raw Kafka topic with the contract's rules
(DESIGN §2, README "Idempotency keys, transfer ids and placement") and compares every instance's
answers with the result. Nothing here imports, links or calls xbanku's code."""
