// Stripe activation: the card goes from Stripe Elements straight to Stripe. htmx posts the
// rest of the form to /payment; when it is valid the server answers with an HX-Trigger
// "stripe-confirm" event carrying the PaymentIntent's client secret. We confirm the card
// with Stripe.js, then submit the form for real with the intent's id.
(function () {
  "use strict";
  var form = document.getElementById("activation-form");
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
