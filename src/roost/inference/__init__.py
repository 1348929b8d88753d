"""Predictions from a trained model (workshop Lab 3): `roost predict` and SageMaker's hosting contract."""
