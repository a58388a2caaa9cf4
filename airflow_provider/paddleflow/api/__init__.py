"""PaddleFlow calls, one module per resource family: each function is one exchange (a flow)."""
