"""Marketing: visitor groups (who is visiting), content slots (what they
see), segments and campaigns (whom a promotion is for) and promotions."""
