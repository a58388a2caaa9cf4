"""PaddleFlow: runs, pipelines, schedules and logs."""
