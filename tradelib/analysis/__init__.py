"""Analysis layer: transforms, tariff events and schedule, models, forecasts, fact checks."""
