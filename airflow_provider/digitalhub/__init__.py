"""DigitalHub (DHCore): run entities, projects, logs and metrics."""
