"""trainlab: build, train, diagnose and compare CNNs and RNNs on images, text and time series."""

__version__ = "0.1.0"
