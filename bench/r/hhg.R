# A plain R reference for bench/fit-vs-r.ts: the Hausman-Hall-Griliches (1984) conditional fixed-effects negative
# binomial (Stata xtnbreg, fe; src/stats/count/hhg.ts), written out for the bench with analytic gradient and Hessian
# and Newton-Raphson with step halving, and MASS::glm.nb for NB2. Usage:
#   Rscript bench/r/hhg.R FILE.csv hhg|nb2      (columns id, year, y, x1..xK)
# Prints one line per coefficient "name value" (x1..xK, year dummies 2nd level on, _cons), then "loglik value",
# "iterations n" and "fit_seconds s" (the fit alone, after read.csv and model.matrix).
args <- commandArgs(trailingOnly = TRUE)
file <- args[1]
model <- args[2]
d <- read.csv(file)
xs <- grep("^x[0-9]+$", names(d), value = TRUE)
form <- as.formula(paste("~", paste(c(xs, "factor(year)"), collapse = " + ")))
X <- model.matrix(form, data = d)
y <- d$y
# ours: x1..xK, then the year dummies, then _cons
order <- c(xs, grep("^factor\\(year\\)", colnames(X), value = TRUE), "(Intercept)")
started <- proc.time()[["elapsed"]]

if (model == "hhg") {
  g <- as.integer(factor(d$id, levels = unique(d$id)))
  Y <- as.vector(rowsum(y, g, reorder = FALSE))
  # all-zero groups add 0 to the log-likelihood and its derivatives; singleton groups are dropped (as spillway does)
  keep <- (Y > 0 & as.vector(table(g)[as.character(seq_along(Y))]) > 1)[g]
  X <- X[keep, , drop = FALSE]; y <- y[keep]; g <- as.integer(factor(g[keep], levels = unique(g[keep])))
  Y <- as.vector(rowsum(y, g, reorder = FALSE))
  constant <- sum(lgamma(Y + 1)) - sum(lgamma(y + 1))
  loglik <- function(b) {
    lam <- exp(drop(X %*% b)); Lam <- as.vector(rowsum(lam, g, reorder = FALSE))
    constant + sum(lgamma(Lam) - lgamma(Lam + Y)) + sum(lgamma(lam + y) - lgamma(lam))
  }
  derivatives <- function(b) {
    lam <- exp(drop(X %*% b)); Lam <- as.vector(rowsum(lam, g, reorder = FALSE))
    A <- digamma(Lam) - digamma(Lam + Y); B <- trigamma(Lam) - trigamma(Lam + Y)
    w1 <- lam * (A[g] + digamma(lam + y) - digamma(lam))
    w2 <- w1 + lam^2 * (trigamma(lam + y) - trigamma(lam))
    S <- rowsum(lam * X, g, reorder = FALSE)
    list(gradient = drop(crossprod(X, w1)), hessian = crossprod(X, w2 * X) + crossprod(S, B * S))
  }
  b <- rep(0, ncol(X)); names(b) <- colnames(X)
  ll <- loglik(b); iterations <- 0
  repeat {
    dv <- derivatives(b)
    step <- -solve(dv$hessian, dv$gradient)
    # at most a change of 10 in any linear index per step, then halving until the log-likelihood does not fall
    reach <- max(abs(X %*% step)); size <- if (reach > 10) 10 / reach else 1
    for (h in 0:60) { candidate <- b + size * step; lc <- loglik(candidate); if (is.finite(lc) && lc >= ll - 1e-13 * (1 + abs(ll))) break; size <- size / 2 }
    iterations <- iterations + 1
    change <- abs(lc - ll) / (1 + abs(ll)); b <- candidate; ll <- lc
    if ((change < 1e-12 && max(abs(size * step)) < 1e-9) || iterations >= 200) break
  }
  coef <- b; loglikValue <- ll
} else {
  suppressMessages(library(MASS))
  fit <- glm.nb(y ~ X - 1, control = glm.control(epsilon = 1e-12, maxit = 100))
  coef <- coef(fit); names(coef) <- colnames(X); loglikValue <- as.numeric(logLik(fit)); iterations <- fit$iter
}
elapsed <- proc.time()[["elapsed"]] - started
for (name in order) cat(name, format(coef[[name]], digits = 17), "\n")
cat("loglik", format(loglikValue, digits = 17), "\n")
cat("iterations", iterations, "\n")
cat("fit_seconds", elapsed, "\n")
