"""Gradio web app: recognise uploaded, pasted, photographed or generated images with registered models."""
