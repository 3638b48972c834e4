"""Forecasting without networks: baselines, seasonality detection and rolling-origin backtests."""
