"""Prefect 3 flows: generate -> train -> evaluate -> register, tracked in MLflow. One flow per file."""
