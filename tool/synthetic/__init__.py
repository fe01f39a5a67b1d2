"""The synthetic data generator of tool/synthetic_data.py, one module per job."""
