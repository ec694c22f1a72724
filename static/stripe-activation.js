// Stripe payments (activation and top-up): the card goes from Stripe Elements straight to
// Stripe. htmx posts the rest of the form to the server, which creates the PaymentIntent and
// answers with an HX-Trigger "stripe-confirm" event carrying its client secret. We confirm the
// card with Stripe.js, then submit the form for real with the intent's id. Should the page
// close before that submit, the server still records the payment (webhook, reconciliation).
(function () {
  "use strict";
  var form = document.querySelector("form[data-stripe-payment]");
  if (!form || typeof window.Stripe !== "function") return;
  var stripe = window.Stripe(form.getAttribute("data-publishable-key"));
  var card = stripe.elements().create("card");
  var errors = document.getElementById("card-errors");
  card.mount("#card-element");
  card.on("change", function (event) {
    errors.textContent = event.error ? event.error.message : "";
  });

  form.addEventListener("stripe-confirm", function (event) {
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errors.textContent = "";
    stripe.confirmCardPayment(event.detail.clientSecret, { payment_method: { card: card } }).then(function (result) {
      if (result.error) {
        errors.textContent = result.error.message;
        button.disabled = false;
        return;
      }
      form.querySelector("input[name=payment_intent]").value = result.paymentIntent.id;
      form.submit(); // a plain POST to the form's action; htmx is not involved
    });
  });
})();
