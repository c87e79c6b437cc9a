"""The GPT-2 models: pre-training gpt2-base, fine-tuning the generator and the replies model, their copy
weights, held-out figures and cards.
"""
